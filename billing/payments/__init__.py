"""Getting paid (docs/rules.md, payments and dunning): payment methods behind a provider
boundary (`provider`), their services (`methods`), charging invoices (`collection`), the retry
schedule and the restriction ladder (`dunning`) and its reminders (`reminders`). The models are
`billing/payments/models.py`, loaded by `billing.models`."""
