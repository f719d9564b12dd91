"""Vigil's core: what every stage shares (configuration, record contracts, Kafka and
Elasticsearch clients, metric names, the profile model, the entity normaliser, tor control).

The core imports no stage (crawlers, pipelines, scheduler) and nothing of the application
(vigil.app); `make lint` checks it.
"""
