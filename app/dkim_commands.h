// app/dkim_commands.h: `vestnik dkim keygen|sign|verify`, offline operator
// tools (no server). Exit status: 0 ok, 1 verification failed, 2 usage,
// file or key error.
#pragma once

#include <string>
#include <vector>

namespace app {

struct DkimKeygenFlags {
  std::string domain;
  std::string selector;
  std::string algorithm = "rsa";
  unsigned bits = 2048;
  std::string out;
  bool force = false;
};
// Writes the private key (PKCS#8 PEM, mode 0600, refusing to overwrite
// without --force) and prints the TXT record: its name on stderr, its value
// on stdout (as quoted strings of at most 255 octets when longer).
int cmd_dkim_keygen(const DkimKeygenFlags& f);

struct DkimSignFlags {
  std::string key;
  std::string domain;
  std::string selector;
  std::string algorithm;  // empty: the key's
  std::string canonicalization = "relaxed/relaxed";
  std::vector<std::string> headers;  // empty: the default list
  std::string file;                  // "-": stdin
};
// Prints the message with its DKIM-Signature field first (CRLF line ends).
int cmd_dkim_sign(const DkimSignFlags& f);

struct DkimVerifyFlags {
  std::vector<std::string> txt;  // key records ("v=DKIM1; k=...; p=...")
  std::string file;              // "-": stdin
};
// One line per signature: "pass d=... s=... a=..." or "fail ...: reason".
// Exit 0 when there is at least one signature and all pass.
int cmd_dkim_verify(const DkimVerifyFlags& f);

}  // namespace app
