"""Prediction: engines (Keras, LiteRT), face detection and crops, the predictor, explanations, drawing, batch labelling."""
