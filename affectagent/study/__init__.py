"""Controlled studies (paired tri-modal episodes for the missing-modality experiments)."""
