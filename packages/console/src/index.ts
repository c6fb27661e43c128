export { buildSite, writeSite, type ConsoleSite } from "./build-site.ts";
export { startConsoleServer, type ConsoleServer, type ConsoleServerOptions } from "./server.ts";
