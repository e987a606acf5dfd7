"""Week 04 lab: transfers, migrations and keyset pagination. `pytest weeks/04` tests this package."""
