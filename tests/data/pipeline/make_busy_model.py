"""Makes tests/data/pipeline/busy.model.safetensors: the random-weight mirror-st test model
(tests/data/vit) with its objectness and first class biased up, so that it reports objects
on any input. It exercises the pipeline's plumbing (tracker, segmenter, writers) without a
trained model; its detections mean nothing.

Run with Debian's torch: /usr/bin/python3 tests/data/pipeline/make_busy_model.py
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "vit", "train"))
import safetensors_io as st  # noqa: E402

tensors, meta = st.load(os.path.join(here, "..", "vit", "mirror-st.model.safetensors"))
bias = tensors["head.dense.out.bias"].clone().float()
bias[0] += 6.0  # objectness logit
bias[1] += 6.0  # class 0 ("person")
tensors["head.dense.out.bias"] = bias.to(tensors["head.dense.out.bias"].dtype)
st.save(os.path.join(here, "busy.model.safetensors"), tensors, meta)
print("wrote busy.model.safetensors")
