package devnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/common"
)

// Head is where a devnet kept in a data directory stopped: written by Close, removed by Start.
type Head struct {
	Number uint64      `json:"number"`
	Hash   common.Hash `json:"hash"`
}

func headPath(dir string) string { return filepath.Join(dir, "head.json") }

// LastHead returns where the chain kept in dir stopped, or nil when no Close recorded it: the chain
// is new, running, or was not stopped cleanly.
func LastHead(dir string) (*Head, error) {
	data, err := os.ReadFile(headPath(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("devnet: %w", err)
	}
	var h Head
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("devnet: %s: %w", headPath(dir), err)
	}
	return &h, nil
}

func writeHead(dir string, h Head) error {
	data, err := json.Marshal(h)
	if err != nil {
		return err
	}
	tmp := headPath(dir) + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	if err := os.Rename(tmp, headPath(dir)); err != nil {
		return fmt.Errorf("devnet: %w", err)
	}
	return nil
}

// HasChain reports whether dir holds a chain database.
func HasChain(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "geth", "chaindata"))
	return err == nil
}
