"""Week 04 reference solution: transfers, migrations and keyset pagination on real PostgreSQL."""
