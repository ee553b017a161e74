package streams

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// backends returns a fresh backend of each kind; reopen reopens the
// on-disk one over the same directory (nil for memory).
func backends(t *testing.T) map[string]func() backend {
	dir := filepath.Join(t.TempDir(), "store")
	return map[string]func() backend{
		"memory": func() backend { return newMemBackend() },
		"disk": func() backend {
			b, err := openDiskBackend(dir)
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	}
}

// TestBackendModel runs the same puts, deletes and scans on each backend
// and compares them with a map; the disk backend's reopen (which reloads
// its file) is compared too.
func TestBackendModel(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			b := open()
			defer func() { _ = b.destroy() }()
			model := map[string]string{}
			for i := range 30_000 {
				if i%1_000 == 999 {
					// Moves the on-disk store's pending writes to its file.
					if err := b.commit(int64(i)); err != nil {
						t.Fatal(err)
					}
				}
				k := fmt.Sprintf("k%03d", (i*7919)%500)
				if i%5 == 0 {
					delete(model, k)
					if err := b.put(k, nil); err != nil {
						t.Fatal(err)
					}
					continue
				}
				v := fmt.Sprint(i)
				model[k] = v
				if err := b.put(k, []byte(v)); err != nil {
					t.Fatal(err)
				}
			}
			if b.size() != len(model) {
				t.Fatalf("size %d, want %d", b.size(), len(model))
			}
			for k, v := range model {
				got, ok := b.get(k)
				if !ok || string(got) != v {
					t.Fatalf("get %s = %q, %v; want %q", k, got, ok, v)
				}
			}
			var prev string
			n := 0
			b.scan("k100", "k200", func(k string, v []byte) bool {
				if k < "k100" || k >= "k200" || k <= prev || model[k] != string(v) {
					t.Fatalf("scan returned %s=%s after %s", k, v, prev)
				}
				prev = k
				n++
				return true
			})
			want := 0
			for k := range model {
				if k >= "k100" && k < "k200" {
					want++
				}
			}
			if n != want {
				t.Fatalf("scan returned %d keys, want %d", n, want)
			}
			if d, ok := b.(*diskBackend); ok {
				if err := d.commit(1); err != nil {
					t.Fatal(err)
				}
				if err := d.close(); err != nil {
					t.Fatal(err)
				}
				re, err := openDiskBackend(d.dir)
				if err != nil {
					t.Fatal(err)
				}
				b = re
				if re.size() != len(model) {
					t.Fatalf("reopened size %d, want %d", re.size(), len(model))
				}
				for k, v := range model {
					if got, ok := re.get(k); !ok || string(got) != v {
						t.Fatalf("reopened get %s = %q, %v; want %q", k, got, ok, v)
					}
				}
			}
		})
	}
}

// TestDiskBackendCheckpoint checks the exactly-once rule of the on-disk
// store: contents survive a clean close after a commit (with the
// checkpoint), but a crash after processing started (no close) or writes
// after the last commit leave no checkpoint, and reopening starts empty.
func TestDiskBackendCheckpoint(t *testing.T) {
	tests := []struct {
		name      string
		run       func(b *diskBackend)
		wantCP    bool
		wantValue string
	}{
		{"clean close after commit", func(b *diskBackend) {
			_ = b.put("a", []byte("1"))
			_ = b.commit(42)
			_ = b.close()
		}, true, "1"},
		{"crash after dirty", func(b *diskBackend) {
			_ = b.put("a", []byte("1"))
			_ = b.commit(42)
			_ = b.close()
			b2, _ := openDiskBackend(b.dir)
			_ = b2.dirty()
			_ = b2.put("a", []byte("2"))
			b2.f.Close() // crash: no close, no checkpoint
		}, false, ""},
		{"writes after the last commit", func(b *diskBackend) {
			_ = b.put("a", []byte("1"))
			_ = b.commit(42)
			_ = b.put("a", []byte("2"))
			_ = b.close()
		}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "s")
			b, err := openDiskBackend(dir)
			if err != nil {
				t.Fatal(err)
			}
			tt.run(b)
			re, err := openDiskBackend(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer re.close()
			cp, ok := re.checkpoint()
			if ok != tt.wantCP || (ok && cp != 42) {
				t.Fatalf("checkpoint %d, %v; want present=%v", cp, ok, tt.wantCP)
			}
			v, _ := re.get("a")
			if string(v) != tt.wantValue {
				t.Fatalf("a = %q, want %q", v, tt.wantValue)
			}
			if _, err := os.Stat(filepath.Join(dir, dataFile)); err != nil {
				t.Fatal(err)
			}
		})
	}
}
