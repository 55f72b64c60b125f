"""Vector activations, applied over an axis: softmax."""
