"""The test rig: a local transcription server, a virtual microphone, a virtual display."""
