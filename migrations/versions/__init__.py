"""The migrations, one module per version: vNNNN_<name>.py with VERSION, NAME, up, down."""
