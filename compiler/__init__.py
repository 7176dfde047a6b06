"""spikeforge.compiler"""
