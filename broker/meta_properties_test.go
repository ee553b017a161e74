package broker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMetaProperties(t *testing.T) {
	tests := []struct {
		name       string
		existing   string // file content before; empty: no file
		configured string
		nodeID     int32
		wantID     string // "" with wantErr; "*" for any generated id
		wantErr    string
	}{
		{name: "first start generates an id", nodeID: 1, wantID: "*"},
		{name: "first start keeps the configured id", configured: "my-cluster", nodeID: 1, wantID: "my-cluster"},
		{name: "later start reads the id", existing: "version=1\ncluster.id=abc\nnode.id=3\n", nodeID: 3, wantID: "abc"},
		{name: "configured id must match", existing: "cluster.id=abc\nnode.id=3\n", configured: "other", nodeID: 3, wantErr: "belongs to cluster"},
		{name: "node id must match", existing: "cluster.id=abc\nnode.id=3\n", nodeID: 4, wantErr: "belongs to node 3"},
		{name: "comments and blanks are ignored", existing: "# hi\n\n! bang\ncluster.id = xyz\n", nodeID: 1, wantID: "xyz"},
		{name: "missing cluster id", existing: "node.id=1\n", nodeID: 1, wantErr: "no cluster.id"},
		{name: "malformed line", existing: "cluster.id\n", nodeID: 1, wantErr: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), metaPropertiesName)
			if tt.existing != "" {
				if err := os.WriteFile(path, []byte(tt.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			id, err := loadOrCreateMetaProperties(path, tt.configured, tt.nodeID)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantID == "*" {
				if len(id) != 22 {
					t.Fatalf("generated id %q", id)
				}
			} else if id != tt.wantID {
				t.Fatalf("id %q, want %q", id, tt.wantID)
			}
			// The id is stable from now on.
			again, err := loadOrCreateMetaProperties(path, "", tt.nodeID)
			if err != nil || again != id {
				t.Fatalf("second load: %q, %v", again, err)
			}
		})
	}
}
