// tests/api/json_writer_test.cpp: api/json_writer.cpp — the response writer
// always produces valid JSON, whatever bytes it is given.
#include "api/json_writer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace api {
namespace {

std::string escaped(std::string_view s) {
  std::string out;
  JsonWriter::append_string(out, s);
  return out;
}

TEST(JsonWriterTest, EscapesStrings) {
  EXPECT_EQ(escaped("plain"), R"("plain")");
  EXPECT_EQ(escaped("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(escaped("line\r\nnext\ttab"), R"("line\r\nnext\ttab")");
  EXPECT_EQ(escaped(std::string("nul\0x", 5)), R"("nul\u0000x")");
  EXPECT_EQ(escaped("\x1b"), R"("\u001b")");
  EXPECT_EQ(escaped("Іван 990 ₴ 🎓"), "\"Іван 990 ₴ 🎓\"");
}

TEST(JsonWriterTest, ReplacesInvalidUtf8) {
  EXPECT_EQ(escaped("caf\xe9!"), "\"caf\xEF\xBF\xBD!\"");  // Latin-1 byte from a peer
  EXPECT_EQ(escaped("\xc3"), "\"\xEF\xBF\xBD\"");
  EXPECT_EQ(escaped("\xed\xa0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
  for (std::string_view s : {"\xff\xfe", "a\xc0\xafz", "\xf4\x90\x80\x80"}) {
    boost::system::error_code ec;
    boost::json::parse(escaped(s), ec);
    EXPECT_FALSE(ec) << escaped(s);
  }
}

TEST(JsonWriterTest, WritesNestedStructures) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.member("id", "01J");
  w.member("attempts", uint32_t{5});
  w.member("delta", int64_t{-3});
  w.key("events");
  w.begin_array();
  w.begin_object();
  w.member("status", "queued");
  w.end_object();
  w.begin_object();
  w.end_object();
  w.end_array();
  w.key("ok");
  w.boolean(true);
  w.key("none");
  w.null();
  w.key("vars");
  w.raw(R"({"a":1})");
  w.key("ratio");
  w.number(0.25);
  w.key("nan");
  w.number(std::numeric_limits<double>::quiet_NaN());
  w.end_object();
  EXPECT_EQ(out,
            R"({"id":"01J","attempts":5,"delta":-3,"events":[{"status":"queued"},{}],"ok":true,)"
            R"("none":null,"vars":{"a":1},"ratio":0.25,"nan":null})");
}

}  // namespace
}  // namespace api
