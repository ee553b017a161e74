package kafka

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tributary-io/tributary/broker/auth"
)

// Authorization steps of the admin and group APIs.

// filtered serves the items allow permits and adds an answer for each denied
// one with addDenied. When nothing is permitted the handler is not called.
func filtered[T any](z *authz, items *[]T, allow func(T) bool, addDenied func(kmsg.Response, T)) (kmsg.Response, error) {
	var denied []T
	kept := (*items)[:0:0]
	for _, it := range *items {
		if allow(it) {
			kept = append(kept, it)
		} else {
			denied = append(denied, it)
		}
	}
	if len(denied) == 0 {
		return z.serve()
	}
	*items = kept
	resp := z.empty()
	if len(kept) > 0 {
		r, err := z.serve()
		if err != nil || r == nil {
			return r, err
		}
		resp = r
	}
	for _, d := range denied {
		addDenied(resp, d)
	}
	return resp, nil
}

func authzDescribeGroups(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.DescribeGroupsRequest)
	return filtered(z, &req.Groups,
		func(g string) bool { return z.ok(opDescribe, auth.Group(g)) },
		func(r kmsg.Response, g string) {
			resp := r.(*kmsg.DescribeGroupsResponse)
			rg := kmsg.NewDescribeGroupsResponseGroup()
			rg.Group, rg.ErrorCode = g, groupDenied
			resp.Groups = append(resp.Groups, rg)
		})
}

// authzListGroups: DESCRIBE on the cluster lists every group; otherwise only
// the groups the principal may describe.
func authzListGroups(z *authz) (kmsg.Response, error) {
	r, err := z.serve()
	if err != nil || z.quiet(opDescribe, auth.Cluster()) {
		return r, err
	}
	resp := r.(*kmsg.ListGroupsResponse)
	kept := resp.Groups[:0]
	for _, g := range resp.Groups {
		if z.quiet(opDescribe, auth.Group(g.Group)) {
			kept = append(kept, g)
		}
	}
	resp.Groups = kept
	return resp, nil
}

func authzDeleteGroups(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.DeleteGroupsRequest)
	return filtered(z, &req.Groups,
		func(g string) bool { return z.ok(opDelete, auth.Group(g)) },
		func(r kmsg.Response, g string) {
			resp := r.(*kmsg.DeleteGroupsResponse)
			rg := kmsg.NewDeleteGroupsResponseGroup()
			rg.Group, rg.ErrorCode = g, groupDenied
			resp.Groups = append(resp.Groups, rg)
		})
}

// authzOffsetDelete: DELETE on the group, READ on each topic.
func authzOffsetDelete(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.OffsetDeleteRequest)
	if !z.ok(opDelete, auth.Group(req.Group)) {
		return z.deny(groupDenied)
	}
	return filtered(z, &req.Topics,
		func(t kmsg.OffsetDeleteRequestTopic) bool { return z.ok(opRead, auth.Topic(t.Topic)) },
		func(r kmsg.Response, t kmsg.OffsetDeleteRequestTopic) {
			resp := r.(*kmsg.OffsetDeleteResponse)
			rt := kmsg.NewOffsetDeleteResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetDeleteResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, topicDenied
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		})
}

// authzCreateTopics: CREATE on the cluster, or on each topic.
func authzCreateTopics(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.CreateTopicsRequest)
	if z.quiet(opCreate, auth.Cluster()) {
		return z.serve()
	}
	return filtered(z, &req.Topics,
		func(t kmsg.CreateTopicsRequestTopic) bool { return z.ok(opCreate, auth.Topic(t.Topic)) },
		func(r kmsg.Response, t kmsg.CreateTopicsRequestTopic) {
			resp := r.(*kmsg.CreateTopicsResponse)
			rt := kmsg.NewCreateTopicsResponseTopic()
			rt.Topic, rt.ErrorCode = t.Topic, topicDenied
			resp.Topics = append(resp.Topics, rt)
		})
}

// authzDeleteTopics: DELETE on each topic (named, or by id in v6+).
func authzDeleteTopics(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.DeleteTopicsRequest)
	deny := func(r kmsg.Response, name *string, id [16]byte) {
		resp := r.(*kmsg.DeleteTopicsResponse)
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic, rt.TopicID, rt.ErrorCode = name, id, topicDenied
		resp.Topics = append(resp.Topics, rt)
	}
	if z.r.Version < 6 {
		return filtered(z, &req.TopicNames,
			func(t string) bool { return z.ok(opDelete, auth.Topic(t)) },
			func(r kmsg.Response, t string) { deny(r, &t, [16]byte{}) })
	}
	return filtered(z, &req.Topics,
		func(t kmsg.DeleteTopicsRequestTopic) bool {
			name := z.topicName("", t.TopicID)
			if t.Topic != nil {
				name = *t.Topic
			}
			return z.ok(opDelete, auth.Topic(name))
		},
		func(r kmsg.Response, t kmsg.DeleteTopicsRequestTopic) { deny(r, t.Topic, t.TopicID) })
}

func authzCreatePartitions(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.CreatePartitionsRequest)
	return filtered(z, &req.Topics,
		func(t kmsg.CreatePartitionsRequestTopic) bool { return z.ok(opAlter, auth.Topic(t.Topic)) },
		func(r kmsg.Response, t kmsg.CreatePartitionsRequestTopic) {
			resp := r.(*kmsg.CreatePartitionsResponse)
			rt := kmsg.NewCreatePartitionsResponseTopic()
			rt.Topic, rt.ErrorCode = t.Topic, topicDenied
			resp.Topics = append(resp.Topics, rt)
		})
}

// configResource is the ACL resource of a config resource: topics are topics,
// brokers and broker loggers are the cluster.
func configResource(t kmsg.ConfigResourceType, name string) (auth.Resource, int16) {
	if t == kmsg.ConfigResourceTypeTopic {
		return auth.Topic(name), topicDenied
	}
	return auth.Cluster(), clusterDenied
}

func authzDescribeConfigs(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.DescribeConfigsRequest)
	return filtered(z, &req.Resources,
		func(r kmsg.DescribeConfigsRequestResource) bool {
			res, _ := configResource(r.ResourceType, r.ResourceName)
			return z.ok(opDescribeConfigs, res)
		},
		func(r kmsg.Response, d kmsg.DescribeConfigsRequestResource) {
			resp := r.(*kmsg.DescribeConfigsResponse)
			_, code := configResource(d.ResourceType, d.ResourceName)
			rr := kmsg.NewDescribeConfigsResponseResource()
			rr.ResourceType, rr.ResourceName, rr.ErrorCode = d.ResourceType, d.ResourceName, code
			resp.Resources = append(resp.Resources, rr)
		})
}

func authzAlterConfigs(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.AlterConfigsRequest)
	return filtered(z, &req.Resources,
		func(r kmsg.AlterConfigsRequestResource) bool {
			res, _ := configResource(r.ResourceType, r.ResourceName)
			return z.ok(opAlterConfigs, res)
		},
		func(r kmsg.Response, d kmsg.AlterConfigsRequestResource) {
			resp := r.(*kmsg.AlterConfigsResponse)
			_, code := configResource(d.ResourceType, d.ResourceName)
			rr := kmsg.NewAlterConfigsResponseResource()
			rr.ResourceType, rr.ResourceName, rr.ErrorCode = d.ResourceType, d.ResourceName, code
			resp.Resources = append(resp.Resources, rr)
		})
}

func authzIncrementalAlterConfigs(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.IncrementalAlterConfigsRequest)
	return filtered(z, &req.Resources,
		func(r kmsg.IncrementalAlterConfigsRequestResource) bool {
			res, _ := configResource(r.ResourceType, r.ResourceName)
			return z.ok(opAlterConfigs, res)
		},
		func(r kmsg.Response, d kmsg.IncrementalAlterConfigsRequestResource) {
			resp := r.(*kmsg.IncrementalAlterConfigsResponse)
			_, code := configResource(d.ResourceType, d.ResourceName)
			rr := kmsg.NewIncrementalAlterConfigsResponseResource()
			rr.ResourceType, rr.ResourceName, rr.ErrorCode = d.ResourceType, d.ResourceName, code
			resp.Resources = append(resp.Resources, rr)
		})
}

func authzDescribeTransactions(z *authz) (kmsg.Response, error) {
	req := z.r.Msg.(*kmsg.DescribeTransactionsRequest)
	return filtered(z, &req.TransactionalIDs,
		func(id string) bool { return z.ok(opDescribe, auth.TransactionalID(id)) },
		func(r kmsg.Response, id string) {
			resp := r.(*kmsg.DescribeTransactionsResponse)
			st := kmsg.NewDescribeTransactionsResponseTransactionState()
			st.TransactionalID, st.ErrorCode = id, txnDenied
			resp.TransactionStates = append(resp.TransactionStates, st)
		})
}

// authzListTransactions lists only the transactional ids the principal may
// describe.
func authzListTransactions(z *authz) (kmsg.Response, error) {
	r, err := z.serve()
	if err != nil {
		return nil, err
	}
	resp := r.(*kmsg.ListTransactionsResponse)
	kept := resp.TransactionStates[:0]
	for _, t := range resp.TransactionStates {
		if z.quiet(opDescribe, auth.TransactionalID(t.TransactionalID)) {
			kept = append(kept, t)
		}
	}
	resp.TransactionStates = kept
	return resp, nil
}
