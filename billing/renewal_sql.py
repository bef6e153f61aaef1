"""The renewal's one statement (billing/renewal.py), in parts: the licences in force counted and
priced (`_PRICED`), pending charges and usage claimed (`_CLAIMS`, or only read: `_CLAIMS_READ`),
lines numbered (`_LINES`), invoices, lines and audit rows written (`_WRITE`). `_RENEW` is the
renewal; `_RENEW_READ_ONLY` is the same arithmetic for the upcoming-invoice preview."""

# The renewal of a batch, set-based. Its inputs are arrays, one element per organisation (the
# `renewal` relation, materialised once with each organisation's invoice id), one per distinct
# schedule of dates (picked by subscript: a join would hide the batch's size from the planner,
# whose plans then go wrong), and one per termination fee line (`fee`). The statement:
# - skips a period already billed (an earlier run that could not advance: it is only advanced);
# - counts, per type, the licences in force at the period's first instant (`in_force_at`, whose
#   words the `held` CTE repeats in SQL: bought before that instant, no removal effective at or
#   before the period's first day), whatever their status now and whenever the job runs, so a
#   licence bought on the first day (paid in full by its purchase) or during a missed period is
#   not billed for it, and a missed period is billed as it would have been on time; it prices them
#   for the organisation's currency and frequency,
#   base licences first, then add-ons, each in the catalogue's order; a type with no price leaves
#   the unit price NULL, which the NOT NULL column refuses: that organisation is set aside
#   (`renewals_run`) rather than billed too little;
# - claims the pending charges made before the period's first instant, and the usage of earlier
#   periods, in the same statement that bills them, so a charge or usage recorded meanwhile is
#   either on this invoice or left for the next one, never marked billed without being billed;
# - numbers the lines (licences, termination fees, charges, usage), sums them, and rounds the
#   tax on the subtotal half up to the cent (PostgreSQL's round() on numeric rounds half away
#   from zero, as `telecom.money.tax_amount` does; tests/billing/test_renewal_sql.py pins both);
# - inserts the invoice, its lines and its audit row; an organisation with nothing to bill gets
#   no invoice and keeps its sequence;
# - moves every organisation on to its next renewal, saving the sequence of those invoiced.
_PRICED = """
WITH renewal AS MATERIALIZED (
    SELECT r.*, gen_random_uuid() AS invoice_id,
           (%(issued_at)b::timestamptz[])[r.schedule] AS issued_at,
           (%(issued_on)b::date[])[r.schedule] AS issued_on,
           (%(due_on)b::date[])[r.schedule] AS due_on,
           (%(period_start)b::date[])[r.schedule] AS period_start,
           (%(period_end)b::date[])[r.schedule] AS period_end,
           (%(starts_at)b::timestamptz[])[r.schedule] AS starts_at,
           (%(following_at)b::timestamptz[])[r.schedule] AS following_at,
           (%(start_label)b::text[])[r.schedule] AS start_label,
           (%(span)b::text[])[r.schedule] AS span
      FROM unnest(
               %(organisation)b::uuid[], %(currency)b::text[], %(tax_rate)b::numeric[],
               %(frequency)b::text[], %(sequence)b::integer[], %(number)b::text[],
               %(schedule)b::integer[]
           ) AS r(organisation_id, currency, tax_rate, billing_frequency, sequence, number,
                  schedule)
),
billable AS (
    SELECT * FROM renewal AS r
     WHERE NOT EXISTS (
               SELECT 1 FROM billing_invoice AS i
                WHERE i.organisation_id = r.organisation_id AND i.kind = 'renewal'
                  AND i.period_start = r.period_start)
),
held AS (
    SELECT r.invoice_id, l.licence_type_id, count(*)::integer AS quantity
      FROM billable AS r
      JOIN licensing_licence AS l ON l.organisation_id = r.organisation_id
     WHERE l.purchased_at < r.starts_at
       AND (l.removal_effective_on IS NULL OR l.removal_effective_on > r.period_start)
       AND (l.terminated_on IS NULL OR l.terminated_on > r.period_start)
     GROUP BY r.invoice_id, l.licence_type_id
),
priced AS (
    SELECT h.*, CASE r.billing_frequency WHEN 'yearly' THEN p.yearly
                                         ELSE p.monthly END AS unit_price
      FROM held AS h
      JOIN billable AS r USING (invoice_id)
      LEFT JOIN licensing_licenceprice AS p
             ON p.licence_type_id = h.licence_type_id AND p.currency = r.currency
),
"""


# Claiming the charges and usage the invoice bills: marked with the invoice in the same statement.
_CLAIMS = """
charged AS (
    UPDATE billing_charge AS c SET invoice_id = r.invoice_id
      FROM billable AS r
     WHERE c.organisation_id = r.organisation_id AND c.invoice_id IS NULL
       AND c.created_at < r.starts_at
    RETURNING c.invoice_id, c.description, c.kind, c.licence_type_id, c.quantity, c.unit_price,
              c.amount, c.created_at, c.id
),
used AS (
    UPDATE billing_usagerecord AS u SET invoice_id = r.invoice_id
      FROM billable AS r
     WHERE u.organisation_id = r.organisation_id AND u.invoice_id IS NULL
       AND u.period_start < r.period_start
    RETURNING u.invoice_id, u.cost
),
"""


# The same selection, read only (the upcoming invoice).
_CLAIMS_READ = """
charged AS (
    SELECT r.invoice_id, c.description, c.kind, c.licence_type_id, c.quantity, c.unit_price,
           c.amount, c.created_at, c.id
      FROM billing_charge AS c
      JOIN billable AS r ON c.organisation_id = r.organisation_id
     WHERE c.invoice_id IS NULL AND c.created_at < r.starts_at
),
used AS (
    SELECT r.invoice_id, u.cost
      FROM billing_usagerecord AS u
      JOIN billable AS r ON u.organisation_id = r.organisation_id
     WHERE u.invoice_id IS NULL AND u.period_start < r.period_start
),
"""


_LINES = """
line AS (
    SELECT h.invoice_id, CASE t.kind WHEN 'base' THEN 1 ELSE 2 END AS part,
           t.sort_order::bigint AS sort_number, t.code AS sort_tie,
           t.name || ' × ' || h.quantity || ', ' || r.span AS description,
           'licence' AS kind, h.licence_type_id, h.quantity, h.unit_price,
           h.unit_price * h.quantity AS amount, r.period_start, r.period_end
      FROM priced AS h
      JOIN billable AS r USING (invoice_id)
      JOIN licensing_licencetype AS t ON t.id = h.licence_type_id
    UNION ALL
    SELECT r.invoice_id, 3, f.position, '', f.description, 'termination_fee',
           f.licence_type_id, f.quantity, f.unit_price, f.amount, r.period_start, NULL
      FROM unnest(
               %(fee_organisation)b::uuid[], %(fee_description)b::text[],
               %(fee_licence_type)b::bigint[], %(fee_quantity)b::integer[],
               %(fee_unit_price)b::numeric[], %(fee_amount)b::numeric[]
           ) WITH ORDINALITY
           AS f(organisation_id, description, licence_type_id, quantity, unit_price, amount,
                position)
      JOIN billable AS r USING (organisation_id)
    UNION ALL
    SELECT c.invoice_id, 4, (extract(epoch FROM c.created_at) * 1000000)::bigint,
           c.id::text, c.description, c.kind, c.licence_type_id, c.quantity, c.unit_price,
           c.amount, NULL, NULL
      FROM charged AS c
    UNION ALL
    SELECT r.invoice_id, 5, 0, '',
           'Calling credits used before ' || r.start_label
               || ' (' || count(*) || ' records)',
           'usage', NULL, 1, sum(u.cost), sum(u.cost), NULL, NULL
      FROM used AS u
      JOIN billable AS r USING (invoice_id)
     GROUP BY r.invoice_id, r.start_label
),
total AS (
    SELECT r.invoice_id, s.subtotal, round(s.subtotal * r.tax_rate, 2) AS tax
      FROM (SELECT invoice_id, sum(amount) AS subtotal FROM line GROUP BY invoice_id) AS s
      JOIN billable AS r USING (invoice_id)
),
"""


_WRITE = """
invoice AS (
    INSERT INTO billing_invoice (
        id, organisation_id, sequence, number, kind, status, issued_at, issued_on, due_on,
        period_start, period_end, currency, tax_rate, subtotal, tax, total, billing_details_id)
    SELECT r.invoice_id, r.organisation_id, r.sequence, r.number, 'renewal', 'issued',
           r.issued_at, r.issued_on, r.due_on, r.period_start, r.period_end, r.currency,
           r.tax_rate, t.subtotal, t.tax, t.subtotal + t.tax,
           (SELECT d.id FROM billing_billingdetails AS d
             WHERE d.organisation_id = r.organisation_id
             ORDER BY d.version DESC LIMIT 1)
      FROM billable AS r
      JOIN total AS t USING (invoice_id)
    RETURNING id, organisation_id, number, total, currency
),
invoice_line AS (
    INSERT INTO billing_invoiceline (
        invoice_id, position, description, kind, licence_type_id, quantity, unit_price,
        period_start, period_end, amount)
    SELECT invoice_id,
           row_number() OVER (PARTITION BY invoice_id
                              ORDER BY part, sort_number, sort_tie),
           description, kind, licence_type_id, quantity, unit_price, period_start, period_end,
           amount
      FROM line
),
audit AS (
    INSERT INTO accounts_auditevent (
        organisation_id, actor_label, action, target_type, target_id, target_label, created_at,
        changes)
    SELECT organisation_id, 'system', 'invoice.issued', 'invoice', id::text, number,
           %(now)b,
           jsonb_build_object('kind', 'renewal', 'total', total::text, 'currency', currency)
      FROM invoice
),
advanced AS (
    UPDATE accounts_organisation AS o
       SET next_renewal_at = r.following_at,
           last_invoice_sequence = CASE WHEN t.invoice_id IS NULL THEN o.last_invoice_sequence
                                        ELSE r.sequence END
      FROM renewal AS r
      LEFT JOIN total AS t USING (invoice_id)
     WHERE o.id = r.organisation_id AND o.id = ANY (%(organisation)b::uuid[])
)
SELECT invoice_id FROM total
"""


# What the preview reads instead of writing: the lines in the order the invoice numbers them.
_READ = """
SELECT row_number() OVER (PARTITION BY invoice_id ORDER BY part, sort_number, sort_tie),
       description, kind, licence_type_id, quantity, unit_price, period_start, period_end,
       amount
  FROM line
 ORDER BY 1
"""


_RENEW = _PRICED + _CLAIMS + _LINES + _WRITE


_RENEW_READ_ONLY = _PRICED + _CLAIMS_READ + _LINES.rstrip().rstrip(",") + "\n" + _READ
