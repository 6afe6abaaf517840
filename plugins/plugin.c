/* The `ringvit` plugin: rvsrc, rvencoder, rvtracker, rvjsonsink, rvoverlay. */
#include <ringvit/config.h>

#include "gstringvit.h"

gboolean gst_ringvit_register(GstPlugin *plugin) {
  rv_gst_frame_meta_register();
  return gst_element_register(plugin, "rvencoder", GST_RANK_NONE, gst_rv_encoder_get_type()) &&
         gst_element_register(plugin, "rvtracker", GST_RANK_NONE, gst_rv_tracker_get_type()) &&
         gst_element_register(plugin, "rvjsonsink", GST_RANK_NONE, gst_rv_json_sink_get_type()) &&
         gst_element_register(plugin, "rvsrc", GST_RANK_NONE, gst_rv_src_get_type()) &&
         gst_element_register(plugin, "rvoverlay", GST_RANK_NONE, gst_rv_overlay_get_type());
}

gboolean gst_ringvit_register_static(void) {
  return gst_plugin_register_static(GST_VERSION_MAJOR, GST_VERSION_MINOR, "ringvit",
                                    "Long-video understanding with ring attention",
                                    gst_ringvit_register, RINGVIT_VERSION, GST_LICENSE_UNKNOWN,
                                    "ringvit", "ringvit", "ringvit");
}
