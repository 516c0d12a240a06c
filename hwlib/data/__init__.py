"""The data layer: EMNIST Letters from any official or course format (``letters``, ``readers``,
``emnist``, ``limits``), the synthetic stand-in (``synthetic``), feature maps for Q1.2(b) (``features``).
"""
from hwlib.data.letters import (PROFILE_SIZES, Letters, Split, active_profile, class_counts,
                                course_view, dataset_slug, load_letters, real_data_dir)

__all__ = ["PROFILE_SIZES", "Letters", "Split", "active_profile", "class_counts", "course_view",
           "dataset_slug", "load_letters", "real_data_dir"]
