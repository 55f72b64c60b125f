"""Entries users expect beyond the seed article: gelu, gelu_tanh, silu (swish), mish,
celu, log_sigmoid."""
