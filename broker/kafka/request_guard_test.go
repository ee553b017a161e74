package kafka

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

var tagsType = reflect.TypeOf(kmsg.Tags{})

// fillRandom sets every field of v (a kmsg request struct) to random values:
// nulls and empties, multi-byte strings, negative numbers, and unknown tags.
func fillRandom(v reflect.Value, rng *rand.Rand, depth int) {
	switch v.Kind() {
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(rng.Int64N(1<<16) - 1<<15)
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 1)
	case reflect.String:
		v.SetString(randomString(rng))
	case reflect.Pointer:
		if rng.IntN(3) == 0 {
			v.SetZero()
			return
		}
		p := reflect.New(v.Type().Elem())
		fillRandom(p.Elem(), rng, depth)
		v.Set(p)
	case reflect.Array:
		for i := range v.Len() {
			fillRandom(v.Index(i), rng, depth)
		}
	case reflect.Uint8:
		v.SetUint(uint64(rng.UintN(256)))
	case reflect.Slice:
		if rng.IntN(4) == 0 || depth > 3 {
			v.SetZero()
			return
		}
		n := rng.IntN(4)
		if v.Type().Elem().Kind() == reflect.Uint8 {
			n = rng.IntN(64)
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fillRandom(s.Index(i), rng, depth+1)
		}
		v.Set(s)
	case reflect.Struct:
		if v.Type() == tagsType {
			tags := v.Addr().Interface().(*kmsg.Tags)
			for range rng.IntN(3) {
				// Unknown tags only: known ones are struct fields.
				val := make([]byte, rng.IntN(20))
				for i := range val {
					val[i] = byte(rng.UintN(256))
				}
				tags.Set(uint32(100+rng.IntN(1000)), val)
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).Name == "Version" || !v.Field(i).CanSet() {
				continue
			}
			fillRandom(v.Field(i), rng, depth)
		}
	}
}

func randomString(rng *rand.Rand) string {
	pieces := []string{"a", "topic", "-", ".", "é", "日本", "\x00", "z9"}
	s := ""
	for range rng.IntN(5) {
		s += pieces[rng.IntN(len(pieces))]
	}
	return s
}

// TestRequestShapesMatchKmsg encodes randomly filled requests of every served API
// at every served flexible version with kmsg, and checks the guard walks each one
// exactly to its end.
func TestRequestShapesMatchKmsg(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, a := range apis() {
		for v := a.MinVersion; v <= a.MaxVersion; v++ {
			probe := kmsg.RequestForKey(a.Key)
			probe.SetVersion(v)
			if !probe.IsFlexible() {
				continue
			}
			t.Run(fmt.Sprintf("%s/v%d", kmsg.NameForKey(a.Key), v), func(t *testing.T) {
				s := requestShapes[a.Key]
				for i := range 300 {
					req := kmsg.RequestForKey(a.Key)
					fillRandom(reflect.ValueOf(req).Elem(), rng, 0)
					req.SetVersion(v)
					body := req.AppendTo(nil)
					w := shapeWalker{b: body, version: v}
					if err := w.walk(s); err != nil {
						t.Fatalf("request %d (%d bytes) rejected: %v\n%+v", i, len(body), err, req)
					}
					if len(w.b) != 0 {
						t.Fatalf("request %d: walk stopped %d bytes before the end: the shape is wrong", i, len(w.b))
					}
					check := kmsg.RequestForKey(a.Key)
					check.SetVersion(v)
					if err := check.ReadFrom(body); err != nil {
						t.Fatalf("kmsg cannot read its own encoding: %v", err)
					}
				}
			})
		}
	}
}

// TestEveryFlexibleAPIHasShape keeps the guard table in step with the api table.
func TestEveryFlexibleAPIHasShape(t *testing.T) {
	for _, a := range apis() {
		req := kmsg.RequestForKey(a.Key)
		req.SetVersion(a.MaxVersion)
		if req.IsFlexible() && requestShapes[a.Key] == nil {
			t.Errorf("%s is served at flexible versions but has no request shape", kmsg.NameForKey(a.Key))
		}
	}
}

// TestHugeTagCountsAreRejectedFast puts a tag count of 2^32-1 where the body
// ends, and at random places in valid bodies, and checks that decoding answers
// within a second (kmsg alone would spin for about a minute).
func TestHugeTagCountsAreRejectedFast(t *testing.T) {
	s := quietServer()
	huge := []byte{0xff, 0xff, 0xff, 0xff, 0x0f}
	rng := rand.New(rand.NewPCG(5, 6))
	decodeWithin := func(t *testing.T, frame []byte) error {
		t.Helper()
		start := time.Now()
		_, err := s.decodeRequest(frame, &ConnInfo{})
		if took := time.Since(start); took > time.Second {
			t.Fatalf("decoding took %v", took)
		}
		return err
	}
	for _, a := range apis() {
		for v := a.MinVersion; v <= a.MaxVersion; v++ {
			req := kmsg.RequestForKey(a.Key)
			req.SetVersion(v)
			if !req.IsFlexible() {
				continue
			}
			// A default body ends with the top-level tag count (0); make it huge.
			frame := frameOf(req, 1, "c")
			frame = append(frame[:len(frame)-1], huge...)
			if err := decodeWithin(t, frame); !errors.Is(err, ErrMalformedRequest) {
				t.Fatalf("%s v%d with a huge final tag count: err %v", kmsg.NameForKey(a.Key), v, err)
			}
			// A huge count in the request header's tags.
			header := frameOf(req, 1, "c")
			at := 8 + 2 + 1 // key, version, correlation id, client id "c"
			bad := append(append(append([]byte{}, header[:at]...), huge...), header[at+1:]...)
			if err := decodeWithin(t, bad); !errors.Is(err, ErrMalformedRequest) {
				t.Fatalf("%s v%d with a huge header tag count: err %v", kmsg.NameForKey(a.Key), v, err)
			}
			// Huge counts spliced into random valid bodies, wherever they land.
			for range 40 {
				fillRandom(reflect.ValueOf(req).Elem(), rng, 0)
				req.SetVersion(v)
				f := frameOf(req, 1, "c")
				pos := 12 + rng.IntN(len(f)-11)
				cut := pos + rng.IntN(min(6, len(f)-pos)+1)
				mutated := append(append(append([]byte{}, f[:pos]...), huge...), f[cut:]...)
				_ = decodeWithin(t, mutated)
			}
		}
	}
}
