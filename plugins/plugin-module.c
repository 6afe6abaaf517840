/* The loadable module: what gst-launch-1.0 finds through GST_PLUGIN_PATH. */
#include <ringvit/config.h>

#include "gstringvit.h"

#define PACKAGE "ringvit"
GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, ringvit,
                  "Long-video understanding with ring attention", gst_ringvit_register,
                  RINGVIT_VERSION, GST_LICENSE_UNKNOWN, "ringvit", "ringvit")
