// Package testpg starts a throwaway PostgreSQL cluster from the machine's initdb and pg_ctl, on a
// free loopback port, for tests and benchmarks, and removes it afterwards.
package testpg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// ErrNotInstalled is returned when no PostgreSQL binaries are found.
var ErrNotInstalled = errors.New("PostgreSQL is not installed (no initdb on PATH or under /usr/lib/postgresql/*/bin)")

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	dir  string
	bin  string
	port int
	cred *syscall.Credential
	n    atomic.Int64
}

// Options tune a cluster.
type Options struct {
	// Durable keeps fsync on, as production has it (benchmarks); tests turn it off for speed.
	Durable bool
}

// binDir finds the directory holding initdb and pg_ctl.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", ErrNotInstalled
	}
	sort.Slice(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	return filepath.Dir(matches[0]), nil
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// Start initializes and starts a cluster. PostgreSQL refuses to run as root, so under root it runs
// as the "postgres" (or "nobody") user.
func Start(opt Options) (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "stablegate-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		if c.cred, err = unprivileged(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		if err := os.Chown(dir, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if out, err := c.run("initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w: %s", err, out)
	}
	if c.port, err = freePort(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	settings := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", c.port, dir)
	if !opt.Durable {
		settings += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	if out, err := c.run("pg_ctl", "start", "-w", "-t", "60", "-D", filepath.Join(dir, "data"), "-l", filepath.Join(dir, "log"), "-o", settings); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_ctl start: %w: %s %s", err, out, log)
	}
	return c, nil
}

func unprivileged() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root and no postgres or nobody user to run PostgreSQL as")
}

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	return cmd.CombinedOutput()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DSN returns the connection string of a database on the cluster.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// CreateDatabase creates a fresh, empty database and returns its DSN.
func (c *Cluster) CreateDatabase(ctx context.Context) (string, error) {
	db, err := sql.Open("pgx", c.DSN("postgres"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.n.Add(1))
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	return c.DSN(name), nil
}

// Stop stops the server and removes its files.
func (c *Cluster) Stop() {
	_, _ = c.run("pg_ctl", "stop", "-m", "immediate", "-w", "-D", filepath.Join(c.dir, "data"))
	os.RemoveAll(c.dir)
}

var (
	shared     *Cluster
	sharedErr  error
	sharedOnce sync.Once
)

// DSN returns a fresh database on the test binary's shared cluster, started on first use. Where
// PostgreSQL is not installed the test is skipped with a loud message, except under CI=true,
// where it fails: CI must run the PostgreSQL suite.
func DSN(t testing.TB) string {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Start(Options{}) })
	if sharedErr != nil {
		if errors.Is(sharedErr, ErrNotInstalled) && os.Getenv("CI") != "true" {
			t.Skipf("SKIPPING PostgreSQL run: %v", sharedErr)
		}
		t.Fatalf("start PostgreSQL: %v", sharedErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, err := shared.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return dsn
}

// Main runs a package's tests and stops the shared cluster afterwards; call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	os.Exit(code)
}
