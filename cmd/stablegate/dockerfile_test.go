package main

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dockerfile is the Dockerfile's instructions, continuation lines joined, comments left out.
func dockerfile(t *testing.T) [][2]string {
	t.Helper()
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	var cur string
	for _, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur += strings.TrimSuffix(trimmed, `\`) + " "
			continue
		}
		cur += trimmed
		instr, rest, _ := strings.Cut(cur, " ")
		out = append(out, [2]string{strings.ToUpper(instr), strings.TrimSpace(rest)})
		cur = ""
	}
	return out
}

// The Dockerfile's steps without Docker (no daemon or registry here): its build command, run as
// written, makes a static binary with the version stamped in; that binary, with the image's
// environment and user, serves from an empty data directory; and the HEALTHCHECK command, run as
// written, passes against it. What is left untested is the base images themselves.
func TestDockerfileStepsWithoutDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	steps := dockerfile(t)
	var f *elf.File
	// Not t.TempDir: its parent is private to root, and the server runs as the image's user.
	work, err := os.MkdirTemp("", "stablegate-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	bin := filepath.Join(work, "stablegate")
	var build string
	env := map[string]string{}
	var user, healthcheck, entrypoint, command []string
	jsonArray := func(s string) []string {
		var a []string
		if err := json.Unmarshal([]byte(s), &a); err != nil {
			t.Fatalf("%q is not an exec-form array: %v", s, err)
		}
		return a
	}
	for _, st := range steps {
		switch st[0] {
		case "RUN":
			if strings.Contains(st[1], "go build") {
				build, _, _ = strings.Cut(st[1], " && ")
			}
		case "ENV":
			for _, kv := range strings.Fields(st[1]) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		case "USER":
			user = strings.Split(st[1], ":")
		case "HEALTHCHECK":
			_, cmd, _ := strings.Cut(st[1], "CMD ")
			healthcheck = jsonArray(cmd)
		case "ENTRYPOINT":
			entrypoint = jsonArray(st[1])
		case "CMD":
			command = jsonArray(st[1])
		}
	}
	if build == "" || len(user) != 2 || user[0] == "0" || len(healthcheck) == 0 || len(entrypoint) == 0 || env["STABLEGATE_ADDR"] == "" {
		t.Fatalf("the Dockerfile lacks a step: build %q, user %v, healthcheck %v, entrypoint %v, env %v", build, user, healthcheck, entrypoint, env)
	}

	// The build, as written, from the source tree (the image's COPY . .).
	build = strings.NewReplacer("${VERSION}", "9.9.9-image", "/out/stablegate", bin).Replace(build)
	cmd := exec.Command("sh", "-c", build)
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, out)
	}
	f, err = elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	libs, _ := f.ImportedLibraries()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary needs a dynamic loader (the distroless static base has none)")
		}
	}
	f.Close()
	if len(libs) > 0 {
		t.Errorf("the binary links %v", libs)
	}
	if out, err := exec.Command(bin, "version").Output(); err != nil || !strings.Contains(string(out), "9.9.9-image") {
		t.Errorf("version of the image's binary: %v %q", err, out)
	}

	// The image's environment and user, with the container's port mapped to a free loopback one
	// and the master key mounted as a file.
	data := filepath.Join(work, "data")
	os.Mkdir(data, 0o700)
	keyFile := filepath.Join(work, "master.key")
	os.WriteFile(keyFile, []byte(strings.Repeat("ab", 32)), 0o400)
	_, port, _ := strings.Cut(freeAddr(t), ":")
	environ := []string{"PATH=" + os.Getenv("PATH"), "STABLEGATE_MASTER_KEY_FILE=" + keyFile}
	for k, v := range env {
		switch k {
		case "STABLEGATE_ADDR":
			v = "127.0.0.1:" + port // the container listens on every interface; here, loopback only
		case "STABLEGATE_DATA_DIR":
			v = data
		}
		environ = append(environ, k+"="+v)
	}
	run := func(argv []string) *exec.Cmd {
		c := exec.Command(strings.Replace(argv[0], "/usr/local/bin/stablegate", bin, 1), argv[1:]...)
		c.Env = environ
		if os.Geteuid() == 0 { // as the image's user, who owns only the data directory
			uid, _ := strconv.Atoi(user[0])
			gid, _ := strconv.Atoi(user[1])
			for _, p := range []string{work, data, bin, keyFile} {
				os.Chown(p, uid, gid)
			}
			c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		}
		return c
	}
	server := run(append(entrypoint, command...))
	var logs strings.Builder
	server.Stderr = &logs
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Process.Signal(syscall.SIGTERM); server.Wait() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, err := run(healthcheck).CombinedOutput()
		if err == nil {
			if !strings.HasPrefix(string(out), "healthy") {
				t.Errorf("the HEALTHCHECK passed saying %q", out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the HEALTHCHECK never passed: %v %s\nthe server's log:\n%s", err, out, logs.String())
		}
	}
	if _, err := os.Stat(filepath.Join(data, "stablegate.db")); err != nil {
		t.Errorf("the data directory holds no database: %v", err)
	}
}
