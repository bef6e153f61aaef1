#!/usr/bin/env bash
# Smoke test of the embedded mode: start the product the way `make run` does, with no
# DATABASE_URL and no REDIS_URL (embedded PostgreSQL, filesystem broker) in a throwaway var dir,
# wait for /healthz/, sign in to the admin with the demo owner, stop it with SIGINT (Ctrl-C) and
# check that it exited 0 and left nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${VENV:-.venv}/bin/python
PORT=${SMOKE_PORT:-$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d "${TMPDIR:-/tmp}/telecom-smoke.XXXXXX")
VAR_DIR=$WORK/var
LOG=$WORK/stack.log
JAR=$WORK/cookies
stack_pid=

say() { printf 'smoke: %s\n' "$*"; }

# Processes of this stack: everything started by it inherits TELECOM_VAR_DIR (PostgreSQL too);
# PostgreSQL is also found by its data directory.
stack_processes() {
	local environ pid
	for environ in /proc/[0-9]*/environ; do
		pid=${environ#/proc/}
		pid=${pid%/environ}
		if tr '\0' '\n' 2>/dev/null <"$environ" | grep -qxF "TELECOM_VAR_DIR=$VAR_DIR"; then
			echo "$pid"
		fi
	done
	pgrep -f -- "$VAR_DIR/pgdata" || true
}

describe() {
	local pid
	for pid in $(stack_processes | sort -u); do
		ps -o pid=,user=,args= -p "$pid" || true
	done
}

fail() {
	say "FAIL: $*"
	echo "----- stack log ($LOG) -----"
	tail -n 400 "$LOG" 2>/dev/null || true
	echo "----- end of stack log -----"
	exit 1
}

cleanup() {
	local status=$?
	if [[ -n $stack_pid ]] && kill -0 "$stack_pid" 2>/dev/null; then
		kill -TERM "$stack_pid" 2>/dev/null || true
		for _ in $(seq 30); do kill -0 "$stack_pid" 2>/dev/null || break; sleep 1; done
	fi
	local leftovers
	leftovers=$(stack_processes | sort -u)
	if [[ -n $leftovers ]]; then
		# shellcheck disable=SC2086 # one pid per word
		kill -KILL $leftovers 2>/dev/null || true
	fi
	rm -rf "$WORK"
	exit "$status"
}
trap cleanup EXIT

say "starting the stack on port $PORT with TELECOM_VAR_DIR=$VAR_DIR"
env -u DATABASE_URL -u REDIS_URL -u SECRET_KEY -u DEBUG -u ALLOWED_HOSTS \
	TELECOM_VAR_DIR="$VAR_DIR" TELECOM_ENV_FILE=/dev/null PORT="$PORT" \
	"$PYTHON" -m telecom.devstack >"$LOG" 2>&1 &
stack_pid=$!

say "waiting for $BASE/healthz/"
healthy=
for _ in $(seq 180); do
	kill -0 "$stack_pid" 2>/dev/null || fail "the stack exited before it answered"
	if [[ $(curl -s -o "$WORK/health" -w '%{http_code}' --max-time 5 "$BASE/healthz/") == 200 ]]; then
		healthy=yes
		break
	fi
	sleep 1
done
[[ -n $healthy ]] || fail "/healthz/ did not answer 200 within 180 s"
grep -q '"ok"' "$WORK/health" || fail "/healthz/ answered: $(cat "$WORK/health")"
say "healthy: $(cat "$WORK/health")"

say "waiting for the Celery worker and beat"
for _ in $(seq 60); do
	if grep -qE 'celery@.* ready' "$LOG" && grep -q 'beat: Starting' "$LOG"; then break; fi
	sleep 1
done
grep -qE 'celery@.* ready' "$LOG" || fail "the Celery worker did not report ready"
grep -q 'beat: Starting' "$LOG" || fail "Celery beat did not start"

say "signing in to the admin as owner@acme.example"
curl -sS --max-time 30 -c "$JAR" -b "$JAR" -o "$WORK/login.html" "$BASE/admin/login/?next=/admin/"
token=$(sed -n 's/.*name="csrfmiddlewaretoken" value="\([^"]*\)".*/\1/p' "$WORK/login.html" | head -n 1)
[[ -n $token ]] || fail "no CSRF token in the admin login page"
result=$(curl -sS --max-time 30 -c "$JAR" -b "$JAR" -L -o "$WORK/admin.html" \
	-w '%{http_code} %{url_effective}' -H "Referer: $BASE/admin/login/" \
	--data-urlencode "csrfmiddlewaretoken=$token" \
	--data-urlencode "username=owner@acme.example" \
	--data-urlencode "password=demo-password-1" \
	--data-urlencode "next=/admin/" \
	"$BASE/admin/login/?next=/admin/")
[[ $result == "200 $BASE/admin/" ]] || fail "sign-in ended at '$result', not '200 $BASE/admin/'"
if grep -q 'id="login-form"' "$WORK/admin.html"; then fail "sign-in answered the login form again"; fi
grep -q 'Log out' "$WORK/admin.html" || fail "the admin index has no 'Log out'"
say "signed in: the admin index answered"

say "stopping the stack with SIGINT"
kill -INT "$stack_pid"
for _ in $(seq 60); do kill -0 "$stack_pid" 2>/dev/null || break; sleep 1; done
kill -0 "$stack_pid" 2>/dev/null && fail "the stack still runs 60 s after SIGINT"
status=0
wait "$stack_pid" || status=$?
stack_pid=
[[ $status == 0 ]] || fail "the stack exited with status $status after SIGINT"
leftovers=$(describe)
[[ -z $leftovers ]] || fail "processes left running after the stack stopped:
$leftovers"

say "PASS"
