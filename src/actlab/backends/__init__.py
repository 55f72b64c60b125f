"""Framework backends: the catalog's math as PyTorch modules and Keras layers."""
