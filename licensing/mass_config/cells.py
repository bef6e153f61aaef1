"""Checking a mass configuration's cells (rule 23) against the organisation: members by e-mail
or unique name, extensions, numbers (available or already the member's), add-on codes. Read in a
fixed number of queries; what passes becomes a `_Row` for the planner."""

from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models.functions import Coalesce

from accounts.models import MemberStatus, User
from licensing.mass_config.reading import (
    EXT,
    NUMBER,
    USER,
    InputRow,
    did_candidates,
    parse_did,
)
from licensing.services import normalise_extension
from numbering.carriers import carrier
from numbering.models import NumberStatus, PhoneNumber


@dataclass
class _Row:
    source: InputRow
    extension: str
    member: dict
    e164: str | None


class _CellChecks:
    """The planner's checks of each row's cells (`_Planner` is one): `_cells` returns the rows
    whose cells are all good and records an error for every other."""

    # -- cells

    def _members(self):
        by_email, by_name = {}, defaultdict(list)
        for member in User.objects.filter(organisation=self.org, is_superuser=False).values(
            "id", "email", "name", "status"
        ):
            by_email[member["email"].lower()] = member
            if member["name"]:
                by_name[" ".join(member["name"].split()).casefold()].append(member)
        return by_email, by_name

    def _member(self, row: InputRow, by_email, by_name) -> dict | None:
        text = row.user.strip()
        if not text:
            self.error(row.row, USER, "required", "Give the user's e-mail address or name.")
            return None
        if "@" in text:
            member = by_email.get(text.lower())
            if member is None:
                self.error(row.row, USER, "unknown_user", f"No member has the e-mail {text}.")
                return None
        else:
            named = by_name.get(" ".join(text.split()).casefold(), [])
            active = [m for m in named if m["status"] != MemberStatus.DEACTIVATED]
            if len(active) > 1:
                self.error(
                    row.row,
                    USER,
                    "ambiguous_user",
                    f"{len(active)} members are called {text}; use the e-mail address instead.",
                )
                return None
            if not named:
                self.error(row.row, USER, "unknown_user", f"No member is called {text}.")
                return None
            member = active[0] if active else named[0]
        if member["status"] == MemberStatus.DEACTIVATED:
            self.error(row.row, USER, "member_deactivated", f"{text} is deactivated.")
            return None
        return member

    def _lookup_numbers(self, e164s: set[str]) -> None:
        """Which of these numbers are available, and which are live (anywhere), in two queries."""
        e164s = list(e164s)
        self.available.update(carrier().lookup_many(e164s=e164s))
        self.live.update(
            (values["e164"], values)
            for values in PhoneNumber.objects.filter(e164__in=e164s)
            .exclude(status=NumberStatus.RELEASED)
            .annotate(holder=Coalesce("licence__member_id", "licence__base_licence__member_id"))
            .values(
                "id",
                "e164",
                "organisation_id",
                "status",
                "licence_id",
                "country",
                "number_type",
                "holder",
            )
        )

    def _resolve_number(self, row: InputRow, candidates: list[str]) -> str | None:
        """The row's number as E.164: a number we know (available or live) needs no parsing, as
        it was validated on its way in; any other is parsed for a precise answer."""
        known = next((c for c in candidates if c in self.available or c in self.live), None)
        if known is not None:
            return known
        try:
            return parse_did(row.number, country=self.org.country)
        except ValueError as exc:
            self.error(row.row, NUMBER, "invalid_number", str(exc))
            return None

    def _cells(self) -> list[_Row]:
        by_email, by_name = self._members()
        first_row_of: dict[str, int] = {}
        first_row_of_number: dict[str, int] = {}
        candidates = {
            row.row: did_candidates(row.number, country=self.org.country)
            for row in self.rows
            if row.number
        }
        looked_up = {e164 for forms in candidates.values() for e164 in forms}
        self.available, self.live = {}, {}
        self._lookup_numbers(looked_up)
        ready = []
        for row in self.rows:
            before = len(self.errors)
            extension = None
            if not row.extension:
                self.error(row.row, EXT, "required", "Give the extension (2 to 8 digits).")
            else:
                try:
                    extension = normalise_extension(row.extension)
                except ValidationError:
                    self.error(
                        row.row,
                        EXT,
                        "invalid_extension",
                        f"“{row.extension}” is not an extension: use 2 to 8 digits.",
                    )
            if extension in first_row_of:
                self.error(
                    row.row,
                    EXT,
                    "duplicate_extension",
                    f"Extension {extension} is also on row {first_row_of[extension]}.",
                )
            elif extension:
                first_row_of[extension] = row.row
            member = self._member(row, by_email, by_name)
            e164 = None
            if row.number:
                e164 = self._resolve_number(row, candidates[row.row])
                if e164 in first_row_of_number:
                    self.error(
                        row.row,
                        NUMBER,
                        "duplicate_number",
                        f"{e164} is also on row {first_row_of_number[e164]}.",
                    )
                elif e164:
                    first_row_of_number[e164] = row.row
            for column, code in row.addons:
                if code not in self.addon_types:
                    self.error(
                        row.row,
                        column,
                        "unknown_addon",
                        f"“{code}” is not an add-on "
                        f"code; the codes are {', '.join(sorted(self.addon_types))}.",
                    )
                elif code not in self.allowed:
                    self.error(
                        row.row,
                        column,
                        "addon_not_allowed",
                        f"{code} cannot be attached to a phone-system licence.",
                    )
            if len(self.errors) == before:
                ready.append(_Row(source=row, extension=extension, member=member, e164=e164))
        unseen = {r.e164 for r in ready if r.e164} - looked_up
        if unseen:  # parsed into a form no candidate had (rare): look those up too
            self._lookup_numbers(unseen)
        return ready
