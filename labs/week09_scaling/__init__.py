"""Week 09 — Scaling: an API contract, stateless instances, a load balancer, a hash ring."""
