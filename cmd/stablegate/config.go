package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
)

// Config is every option of stablegate. Each has a flag, an environment variable and a key in the
// JSON config file; a flag beats the environment, the environment beats the file, the file beats
// the default. docs/configuration.md lists them all (a test keeps it in step).
type Config struct {
	Addr          string
	DataDir       string
	Database      string
	PublicURL     string
	MasterKey     string
	MasterKeyFile string
	LogLevel      string
	LogFormat     string
}

// option describes one configuration option.
type option struct {
	key    string // in the config file
	flag   string
	env    string
	def    string
	help   string
	secret bool // never printed
	ptr    func(*Config) *string
}

var options = []option{
	{key: "addr", flag: "addr", env: "STABLEGATE_ADDR", def: "127.0.0.1:8080",
		help: "address to listen on (host:port; port 0 picks a free one)", ptr: func(c *Config) *string { return &c.Addr }},
	{key: "dataDir", flag: "data", env: "STABLEGATE_DATA_DIR", def: "./.stablegate",
		help: "directory for the SQLite database and generated files", ptr: func(c *Config) *string { return &c.DataDir }},
	{key: "database", flag: "database", env: "STABLEGATE_DATABASE", def: "",
		help: "database: empty for SQLite at <data>/stablegate.db, sqlite:PATH, or a postgres:// URL", ptr: func(c *Config) *string { return &c.Database }},
	{key: "publicUrl", flag: "public-url", env: "STABLEGATE_PUBLIC_URL", def: "",
		help: "base URL payers reach stablegate at (paymentUrl is built on it); default http://<addr>", ptr: func(c *Config) *string { return &c.PublicURL }},
	{key: "masterKey", flag: "", env: "STABLEGATE_MASTER_KEY", def: "", secret: true,
		help: "32-byte master key, hex or base64, that seals HD seeds (environment or file only, never a flag)", ptr: func(c *Config) *string { return &c.MasterKey }},
	{key: "masterKeyFile", flag: "master-key-file", env: "STABLEGATE_MASTER_KEY_FILE", def: "",
		help: "file holding the master key (hex or base64)", ptr: func(c *Config) *string { return &c.MasterKeyFile }},
	{key: "logLevel", flag: "log-level", env: "STABLEGATE_LOG_LEVEL", def: "info",
		help: "debug, info, warn or error", ptr: func(c *Config) *string { return &c.LogLevel }},
	{key: "logFormat", flag: "log-format", env: "STABLEGATE_LOG_FORMAT", def: "",
		help: "json or text (default: json for serve, text for dev)", ptr: func(c *Config) *string { return &c.LogFormat }},
}

// configFlags registers the options on fs, plus --config; defaults override option defaults per
// command (dev's data dir, for one).
type configFlags struct {
	fs         *flag.FlagSet
	configFile *string
	values     map[string]*string
	defaults   map[string]string
}

func newConfigFlags(fs *flag.FlagSet, defaults map[string]string) *configFlags {
	cf := &configFlags{fs: fs, values: map[string]*string{}, defaults: defaults}
	cf.configFile = fs.String("config", "", "JSON config file (env STABLEGATE_CONFIG)")
	for _, o := range options {
		if o.flag == "" {
			continue
		}
		def := o.def
		if d, ok := defaults[o.key]; ok {
			def = d
		}
		cf.values[o.key] = fs.String(o.flag, def, o.help+" (env "+o.env+")")
	}
	return cf
}

// load resolves the configuration after fs.Parse.
func (cf *configFlags) load() (*Config, error) {
	set := map[string]bool{}
	cf.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	file := map[string]string{}
	path := *cf.configFile
	if path == "" {
		path = os.Getenv("STABLEGATE_CONFIG")
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config file: %w", err)
		}
		var raw map[string]any
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
		for k, v := range raw {
			if !knownKey(k) {
				return nil, fmt.Errorf("config file %s: unknown option %q", path, k)
			}
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("config file %s: option %q must be a string", path, k)
			}
			file[k] = s
		}
	}
	c := &Config{}
	for _, o := range options {
		v := o.def
		if d, ok := cf.defaults[o.key]; ok {
			v = d
		}
		if fv, ok := file[o.key]; ok {
			v = fv
		}
		if ev, ok := os.LookupEnv(o.env); ok {
			v = ev
		}
		if o.flag != "" && set[o.flag] {
			v = *cf.values[o.key]
		}
		*o.ptr(c) = v
	}
	return c, nil
}

func knownKey(k string) bool {
	for _, o := range options {
		if o.key == k {
			return true
		}
	}
	return false
}
