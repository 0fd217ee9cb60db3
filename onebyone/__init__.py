"""One by One: helper package for the 1x1 convolution course."""
