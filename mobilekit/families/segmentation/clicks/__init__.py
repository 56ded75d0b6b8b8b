"""Clicks for interactive segmentation, one job per module: encoding, simulation, protocol, corrective."""
from mobilekit.families.segmentation.clicks.corrective import perturbed_prediction, simulate_corrective_clicks
from mobilekit.families.segmentation.clicks.encoding import (CLICK_TRUNCATE, Click, encode_click_maps, encoded_clicks,
                                                             normalize_click_maps)
from mobilekit.families.segmentation.clicks.protocol import next_click
from mobilekit.families.segmentation.clicks.simulation import ClickSampling, simulate_training_clicks

__all__ = ["CLICK_TRUNCATE", "Click", "ClickSampling", "encode_click_maps", "encoded_clicks", "next_click",
           "normalize_click_maps", "perturbed_prediction", "simulate_corrective_clicks", "simulate_training_clicks"]
