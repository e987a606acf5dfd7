"""The optional ML add-on: the probability that an endpoint's next attempt fails.

``train`` is a batch job over the attempt log (``python -m anchor.ml.train``) that publishes a
versioned model to S3; ``serving`` loads the latest version once and notices a newer one without a
restart; ``routes`` answers ``GET …/endpoint/{id}/failure-risk``; ``ordering`` lets the worker try
the deliveries most likely to succeed first. ``features`` is shared by training and serving, so the
model is never fed a feature computed differently from the one it learned.
"""
