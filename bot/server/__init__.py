"""Wiring of the Rasa server: its patches, the hand-off gate, the widget's routes and the console's mount."""
