package sdk

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tributary-io/tributary/plugins/pluginpb"
)

// Defaults for Read requests that leave a limit at zero.
const (
	defaultMaxRecords = 500
	// recordOverhead approximates the protobuf framing of one record, so a
	// batch bounded by max_bytes stays below the gRPC message limit.
	recordOverhead = 32
)

// server is the plugin's side of the protocol. It owns the open instances:
// the map under mu, and each instance's calls under the instance's own lock,
// so calls to one instance are serial while instances run in parallel.
type server struct {
	plugin *Plugin
	log    *slog.Logger

	mu        sync.Mutex
	nextID    uint64
	instances map[uint64]*instance
}

// instance is one open source or sink.
type instance struct {
	mu     sync.Mutex
	closed bool
	source Source
	sink   Sink
	// pending holds records the source returned beyond what the last Read
	// request could carry; the next Read hands them out first.
	pending []Record
}

func newServer(p *Plugin, log *slog.Logger) *server {
	return &server{plugin: p, log: log, instances: make(map[uint64]*instance)}
}

// register adds the services the plugin offers to gs.
func (s *server) register(gs *grpc.Server) {
	pluginpb.RegisterPluginServer(gs, pluginService{s: s})
	if s.plugin.Source != nil {
		pluginpb.RegisterSourceServer(gs, sourceService{s: s})
	}
	if s.plugin.Sink != nil {
		pluginpb.RegisterSinkServer(gs, sinkService{s: s})
	}
}

func (s *server) add(inst *instance) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	s.instances[s.nextID] = inst
	return s.nextID
}

// lock returns the open instance id, locked; the caller unlocks it.
func (s *server) lock(id uint64) (*instance, error) {
	s.mu.Lock()
	inst := s.instances[id]
	s.mu.Unlock()
	if inst == nil {
		return nil, status.Errorf(codes.NotFound, "no open instance %d", id)
	}
	inst.mu.Lock()
	if inst.closed {
		inst.mu.Unlock()
		return nil, status.Errorf(codes.NotFound, "instance %d is closed", id)
	}
	return inst, nil
}

// remove takes instance id out of the map; the caller closes it.
func (s *server) remove(id uint64) *instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.instances[id]
	delete(s.instances, id)
	return inst
}

// closeAll closes every instance still open, when the process is stopping.
func (s *server) closeAll() {
	s.mu.Lock()
	ids := make([]uint64, 0, len(s.instances))
	for id := range s.instances {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		if err := s.closeInstance(id); err != nil {
			s.log.Warn("closing instance at shutdown", "instance", id, "error", err)
		}
	}
}

func (s *server) closeInstance(id uint64) error {
	inst := s.remove(id)
	if inst == nil {
		return status.Errorf(codes.NotFound, "no open instance %d", id)
	}
	inst.mu.Lock()
	defer inst.mu.Unlock()
	inst.closed = true
	inst.pending = nil
	var err error
	if inst.source != nil {
		err = inst.source.Close()
	} else {
		err = inst.sink.Close()
	}
	if err != nil {
		return pluginError("close", err)
	}
	return nil
}

// pluginError turns an error of the plugin's code into a gRPC status the host
// reports as the plugin's own failure. Errors that already carry a status
// keep it.
func pluginError(op string, err error) error {
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return err
	}
	return status.Errorf(codes.Unknown, "%s: %v", op, err)
}

type pluginService struct {
	pluginpb.UnimplementedPluginServer
	s *server
}

func (p pluginService) Manifest(context.Context, *pluginpb.ManifestRequest) (*pluginpb.ManifestResponse, error) {
	return ManifestToProto(p.s.plugin), nil
}

func (p pluginService) Validate(_ context.Context, req *pluginpb.ValidateRequest) (*pluginpb.ValidateResponse, error) {
	kind, err := KindFromProto(req.Kind)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if _, ok := p.s.plugin.Spec(kind); !ok {
		return nil, status.Errorf(codes.InvalidArgument, "plugin %s has no %s", p.s.plugin.Name, kind)
	}
	_, err = p.s.plugin.ParseConfig(kind, req.Config)
	return &pluginpb.ValidateResponse{Problems: ProblemsToProto(Problems(err))}, nil
}

func (p pluginService) Heartbeat(context.Context, *pluginpb.HeartbeatRequest) (*pluginpb.HeartbeatResponse, error) {
	p.s.mu.Lock()
	defer p.s.mu.Unlock()
	return &pluginpb.HeartbeatResponse{Instances: uint32(len(p.s.instances))}, nil
}

type sourceService struct {
	pluginpb.UnimplementedSourceServer
	s *server
}

func (ss sourceService) Open(ctx context.Context, req *pluginpb.SourceOpenRequest) (*pluginpb.OpenResponse, error) {
	s := ss.s
	cfg, err := s.plugin.ParseConfig(KindSource, req.Config)
	if problems := Problems(err); problems != nil {
		return &pluginpb.OpenResponse{Problems: ProblemsToProto(problems)}, nil
	}
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	src := s.plugin.Source.New(Env{Logger: s.log})
	var pos Position
	if len(req.Position) > 0 {
		pos = Position(req.Position)
	}
	if err := src.Open(ctx, cfg, pos); err != nil {
		if cerr := src.Close(); cerr != nil {
			s.log.Warn("closing source after failed open", "error", cerr)
		}
		return nil, pluginError("open source", err)
	}
	id := s.add(&instance{source: src})
	s.log.Debug("source opened", "instance", id)
	return &pluginpb.OpenResponse{Instance: id}, nil
}

func (ss sourceService) Read(ctx context.Context, req *pluginpb.ReadRequest) (*pluginpb.ReadResponse, error) {
	inst, err := ss.s.lock(req.Instance)
	if err != nil {
		return nil, err
	}
	defer inst.mu.Unlock()
	maxRecords := int(req.MaxRecords)
	if maxRecords <= 0 {
		maxRecords = defaultMaxRecords
	}
	if len(inst.pending) == 0 {
		wait := time.Duration(req.MaxWaitMs) * time.Millisecond
		rctx, cancel := context.WithTimeout(ctx, wait)
		recs, err := inst.source.Read(rctx, maxRecords)
		expired := rctx.Err() != nil
		cancel()
		if err == nil || (expired && len(recs) == 0) {
			// Records read while the host gave up on the call stay pending:
			// the source has moved past them, so dropping them would lose them.
			inst.pending = recs
		}
		switch {
		case ctx.Err() != nil:
			return nil, status.FromContextError(ctx.Err()).Err()
		case err != nil && !(expired && len(recs) == 0):
			return nil, pluginError("read", err)
		}
	}
	n, size := 0, 0
	for n < len(inst.pending) && n < maxRecords {
		r := &inst.pending[n]
		if len(r.Position) == 0 {
			return nil, status.Errorf(codes.FailedPrecondition, "read: source returned a record without a position")
		}
		rs := r.Size() + recordOverhead
		if n > 0 && req.MaxBytes > 0 && uint64(size+rs) > req.MaxBytes {
			break
		}
		size += rs
		n++
	}
	resp := &pluginpb.ReadResponse{Records: RecordsToProto(inst.pending[:n])}
	inst.pending = inst.pending[n:]
	if len(inst.pending) == 0 {
		inst.pending = nil
	}
	return resp, nil
}

func (ss sourceService) Commit(ctx context.Context, req *pluginpb.CommitRequest) (*pluginpb.CommitResponse, error) {
	inst, err := ss.s.lock(req.Instance)
	if err != nil {
		return nil, err
	}
	defer inst.mu.Unlock()
	c, ok := inst.source.(Committer)
	if !ok || len(req.Positions) == 0 {
		return &pluginpb.CommitResponse{}, nil
	}
	positions := make([]Position, len(req.Positions))
	for i, p := range req.Positions {
		positions[i] = p
	}
	if err := c.Commit(ctx, positions); err != nil {
		return nil, pluginError("commit", err)
	}
	return &pluginpb.CommitResponse{}, nil
}

func (ss sourceService) Close(_ context.Context, req *pluginpb.CloseRequest) (*pluginpb.CloseResponse, error) {
	if err := ss.s.closeInstance(req.Instance); err != nil {
		return nil, err
	}
	ss.s.log.Debug("source closed", "instance", req.Instance)
	return &pluginpb.CloseResponse{}, nil
}

type sinkService struct {
	pluginpb.UnimplementedSinkServer
	s *server
}

func (ks sinkService) Open(ctx context.Context, req *pluginpb.SinkOpenRequest) (*pluginpb.OpenResponse, error) {
	s := ks.s
	cfg, err := s.plugin.ParseConfig(KindSink, req.Config)
	if problems := Problems(err); problems != nil {
		return &pluginpb.OpenResponse{Problems: ProblemsToProto(problems)}, nil
	}
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	sink := s.plugin.Sink.New(Env{Logger: s.log})
	if err := sink.Open(ctx, cfg); err != nil {
		if cerr := sink.Close(); cerr != nil {
			s.log.Warn("closing sink after failed open", "error", cerr)
		}
		return nil, pluginError("open sink", err)
	}
	id := s.add(&instance{sink: sink})
	s.log.Debug("sink opened", "instance", id)
	return &pluginpb.OpenResponse{Instance: id}, nil
}

func (ks sinkService) Write(ctx context.Context, req *pluginpb.WriteRequest) (*pluginpb.WriteResponse, error) {
	inst, err := ks.s.lock(req.Instance)
	if err != nil {
		return nil, err
	}
	defer inst.mu.Unlock()
	if err := inst.sink.Write(ctx, RecordsFromProto(req.Records)); err != nil {
		return nil, pluginError("write", err)
	}
	return &pluginpb.WriteResponse{}, nil
}

func (ks sinkService) Flush(ctx context.Context, req *pluginpb.FlushRequest) (*pluginpb.FlushResponse, error) {
	inst, err := ks.s.lock(req.Instance)
	if err != nil {
		return nil, err
	}
	defer inst.mu.Unlock()
	if err := inst.sink.Flush(ctx); err != nil {
		return nil, pluginError("flush", err)
	}
	return &pluginpb.FlushResponse{}, nil
}

func (ks sinkService) Close(_ context.Context, req *pluginpb.CloseRequest) (*pluginpb.CloseResponse, error) {
	if err := ks.s.closeInstance(req.Instance); err != nil {
		return nil, err
	}
	ks.s.log.Debug("sink closed", "instance", req.Instance)
	return &pluginpb.CloseResponse{}, nil
}
