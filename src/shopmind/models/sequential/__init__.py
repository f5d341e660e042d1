"""The pieces of the sequential recommender (:mod:`shopmind.models.sasrec`): network, input
tensors, training."""
