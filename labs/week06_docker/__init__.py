"""Week 06 — Docker: the image, the Compose stack, typed settings and a trimmed entry point.

The container files (``Dockerfile``, ``Dockerfile.dockerignore``, ``compose.yaml``) live beside the
Python modules so the image and the code it runs are reviewed together. The lab brief is in
``weeks/06-docker/README.md``; ``pytest weeks/06`` tells you what is left.
"""
