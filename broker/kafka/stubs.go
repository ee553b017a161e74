package kafka

import "github.com/twmb/franz-go/pkg/kmsg"

// STUBS: replaced by the handler files as they are written. The wire-server
// helper owns server.go and the handlers for keys 0, 1, 2, 3, 18; the admin helper
// owns 19, 20, 21, 32, 33, 35, 37, 44, 60. Each deletes its own stubs from here.

func (s *Server) handleCreateTopics(r *Request) (kmsg.Response, error)     { panic("unimplemented") }
func (s *Server) handleDeleteTopics(r *Request) (kmsg.Response, error)     { panic("unimplemented") }
func (s *Server) handleDeleteRecords(r *Request) (kmsg.Response, error)    { panic("unimplemented") }
func (s *Server) handleDescribeConfigs(r *Request) (kmsg.Response, error)  { panic("unimplemented") }
func (s *Server) handleAlterConfigs(r *Request) (kmsg.Response, error)     { panic("unimplemented") }
func (s *Server) handleDescribeLogDirs(r *Request) (kmsg.Response, error)  { panic("unimplemented") }
func (s *Server) handleCreatePartitions(r *Request) (kmsg.Response, error) { panic("unimplemented") }
func (s *Server) handleIncrementalAlterConfigs(r *Request) (kmsg.Response, error) {
	panic("unimplemented")
}
func (s *Server) handleDescribeCluster(r *Request) (kmsg.Response, error) { panic("unimplemented") }
