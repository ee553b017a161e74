package pluginpb

// The go-plugin handshake. The host sets MagicCookieKey=MagicCookieValue in the
// plugin's environment; a binary started any other way refuses to run as a
// plugin. ProtocolVersion changes only when a change to plugin.proto breaks
// compatibility, and the host refuses plugins that speak another version.
const (
	// MagicCookieKey is the environment variable that carries the cookie.
	MagicCookieKey = "TRIBUTARY_PLUGIN_MAGIC_COOKIE"
	// MagicCookieValue is the cookie's value. It is not a secret; it only
	// tells a user who runs a plugin binary by hand that it is not a program.
	MagicCookieValue = "f3a1c3e2-tributary-connector-plugin"
	// ProtocolVersion is the version of plugin.proto both sides speak.
	ProtocolVersion = 1
	// PluginName is the name the gRPC plugin is dispensed under in go-plugin's plugin set.
	PluginName = "connector"
)

// Environment variables the host sets for the plugin process besides the
// handshake, read by the SDK's Serve.
const (
	// EnvParentFD names the file descriptor of the read end of a pipe whose
	// write end only the host holds. When the host dies the pipe reaches end of
	// file and the plugin exits, so no plugin outlives its host.
	EnvParentFD = "TRIBUTARY_PLUGIN_PARENT_FD"
	// EnvMaxMessageBytes is the largest gRPC message the host will send or
	// accept, so the plugin sets the same limit on its server.
	EnvMaxMessageBytes = "TRIBUTARY_PLUGIN_MAX_MESSAGE_BYTES"
)
