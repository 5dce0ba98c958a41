#ifndef SAMHAND_CZLIB_SHIM_H
#define SAMHAND_CZLIB_SHIM_H

#include <zlib.h>

// deflateInit2 and inflateInit2 are C macros, which Swift cannot call.
// These wrappers give them a callable form; nothing else belongs here.

static inline int samhand_deflateInit2(z_streamp stream, int level,
                                       int windowBits, int memLevel) {
  return deflateInit2(stream, level, Z_DEFLATED, windowBits, memLevel,
                      Z_DEFAULT_STRATEGY);
}

static inline int samhand_inflateInit2(z_streamp stream, int windowBits) {
  return inflateInit2(stream, windowBits);
}

#endif
