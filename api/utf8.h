// api/utf8.h: UTF-8 sequence checks (private to api/); core/utf8.h is
// the implementation.
#pragma once

#include "core/utf8.h"

namespace api::utf8 {

using core::utf8::sequence_length;
using core::utf8::valid;

}  // namespace api::utf8
