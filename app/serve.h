// app/serve.h: `vestnik serve` — wires config, spool, transports, engine and
// API together and runs until SIGTERM/SIGINT. Wiring only: no logic of its own.
#pragma once

#include <string>

namespace app {

struct ServeOptions {
  std::string config_path;  // empty: embedded defaults
};

// Returns the process exit status: 0 after a graceful stop.
int serve(const ServeOptions& options);

}  // namespace app
