"""Evaluation harness: dataset loaders (BEIR, TREC, RankGPT JSON), ir-measures metrics, TREC run files,
significance tests and the one-line JSON report every ``thinkir eval`` command ends with.

Modules: :mod:`~thinkir.evals.datasets`, :mod:`~thinkir.evals.metrics`, :mod:`~thinkir.evals.runs`,
:mod:`~thinkir.evals.significance`, :mod:`~thinkir.evals.compare`, :mod:`~thinkir.evals.report`,
:mod:`~thinkir.evals.retrieval`, :mod:`~thinkir.evals.rerank`.
"""
