"""File in, file out: a trained model made into another (an ensemble, an input blur, a calibration, a LiteRT or ONNX export)."""
