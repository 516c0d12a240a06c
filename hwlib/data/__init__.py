"""The data layer: EMNIST Letters from any official or course format, or the synthetic stand-in.

  letters    ``load_letters`` (path → $HWLIB_DATA → downloaded real data → synthetic), splits, hashes
  emnist     the official NIST archive and idx files: download, import, checksum, decode
  synthetic  the generated stand-in (v3: letters drawn with a pen along vector fonts' strokes, converted
             like EMNIST; synth_pen, synth_fonts), cached
  features   feature maps for Question 1.2(b): raw pixels, pooling, PCA, HOG
  limits     how large an EMNIST file can be (checked before anything is read), the memory at hand
"""
from hwlib.data.letters import (PROFILE_SIZES, Letters, Split, active_profile, class_counts,
                                course_view, dataset_slug, load_letters, real_data_dir)

__all__ = ["PROFILE_SIZES", "Letters", "Split", "active_profile", "class_counts", "course_view",
           "dataset_slug", "load_letters", "real_data_dir"]
