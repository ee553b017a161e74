package kafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/cluster"
)

// handleDeleteTopics deletes topics by name, or (v6+) by name or topic id.
// Internal topics ("__" names) are refused. The partition logs are removed by
// the replication layer when it sees the new metadata.
func (s *Server) handleDeleteTopics(r *Request) (kmsg.Response, error) {
	req, ok := r.Msg.(*kmsg.DeleteTopicsRequest)
	if !ok {
		return nil, fmt.Errorf("%w: delete topics handler got %T", ErrMalformedRequest, r.Msg)
	}
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	targets := req.Topics
	if r.Version < 6 {
		targets = make([]kmsg.DeleteTopicsRequestTopic, len(req.TopicNames))
		for i := range req.TopicNames {
			targets[i].Topic = &req.TopicNames[i]
		}
	}
	snap := s.meta.Snapshot()
	names := make([]string, len(targets))
	for i, rt := range targets {
		names[i] = targetName(snap, rt)
	}
	dups := duplicates(len(names), func(i int) string { return names[i] })
	for i, rt := range targets {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		var err error
		switch {
		case names[i] == "" && rt.Topic == nil:
			err = fmt.Errorf("topic id %s: %w", cluster.UUID(rt.TopicID), kerr.UnknownTopicID)
		case dups[names[i]]:
			err = fmt.Errorf("topic %s is named more than once in the request: %w", names[i], kerr.InvalidRequest)
		default:
			err = s.deleteTopic(snap, names[i], rt.TopicID, r.ClientID)
		}
		if t, ok := snap.Topic(names[i]); ok {
			// Answer with both the name and the id, whichever the client gave.
			name := t.Name
			st.Topic, st.TopicID = &name, t.ID
		}
		st.ErrorCode = errorCode(err)
		st.ErrorMessage = errorMessage(err)
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// targetName resolves a deletion target to a topic name: the name when given,
// else the name of the topic with the id, else "".
func targetName(snap *cluster.Snapshot, rt kmsg.DeleteTopicsRequestTopic) string {
	if rt.Topic != nil {
		return *rt.Topic
	}
	if t, ok := snap.TopicsByID[cluster.UUID(rt.TopicID)]; ok {
		return t.Name
	}
	return ""
}

func (s *Server) deleteTopic(snap *cluster.Snapshot, name string, id [16]byte, client string) error {
	t, ok := snap.Topic(name)
	if !ok {
		return fmt.Errorf("%w: %s", cluster.ErrUnknownTopic, name)
	}
	if id != ([16]byte{}) && cluster.UUID(id) != t.ID {
		return fmt.Errorf("topic %s has id %s, not %s: %w", name, t.ID, cluster.UUID(id), kerr.UnknownTopicID)
	}
	if err := s.meta.DeleteTopic(name); err != nil {
		return err
	}
	s.logger.Info("deleted topic", "topic", name, "id", t.ID.String(), "client", client)
	return nil
}
