"""Product search: query understanding, lexical (BM25) and semantic retrieval, and their fusion.

- :mod:`~shopmind.search.tokens`: the words of a text, English stemmed and Chinese segmented;
- :mod:`~shopmind.search.query`: what a query asks for (price bounds, brands, categories);
- :mod:`~shopmind.search.lexical`: BM25 over title, brand, category path and description;
- :mod:`~shopmind.search.semantic`: the query encoded by the language model, nearest items;
- :mod:`~shopmind.search.fusion`: relevance from both, and how much to personalise a query;
- :mod:`~shopmind.search.index`: the three together, fitted at training and saved in a bundle.

The pipeline that serves a search (retrieval as candidate sources, personalisation as
features and scorer) lives in :mod:`shopmind.ranking.search`.
"""

__all__: list[str] = []
