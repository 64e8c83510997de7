package protocol

// Topics (PROTOCOL.md §1). Every topic of this protocol is under
// watchpost/v1/; a v2 protocol gets new topics and both can run side by
// side. List names and post ids are one topic level each with no
// wildcard (ValidListName, ValidatePostID), so a builder below never
// widens a filter.
const (
	topicRoot   = "watchpost/v1/"
	listsPrefix = topicRoot + "lists/"
	keysPrefix  = topicRoot + "keys/"
	postsPrefix = topicRoot + "posts/"
)

// The last level of a list's topics and of a post's topics.
const (
	LeafDelta    = "delta"
	LeafHead     = "head"
	LeafHits     = "hits"
	LeafAcks     = "acks"
	LeafStatus   = "status"
	LeafPresence = "presence"
	// LeafSeal is the last level of a key's encryption key statement.
	LeafSeal = "seal"
)

// Filters over many topics.
const (
	// AllListsFilter, AllKeysFilter and AllPostsFilter match every topic
	// of the lists, the key statements and the posts.
	AllListsFilter = listsPrefix + "#"
	AllKeysFilter  = keysPrefix + "#"
	AllPostsFilter = postsPrefix + "#"
	// KeysFilter matches the retained key-rotation statements (a post's
	// subscription).
	KeysFilter = keysPrefix + "+"
	// SealKeysFilter matches the retained encryption key statements (a
	// post's subscription): watchpost/v1/keys/<keyid>/seal.
	SealKeysFilter = keysPrefix + "+/" + LeafSeal
	// PostsHitsFilter, PostsStatusFilter and PostsPresenceFilter are HQ's
	// subscriptions; PostsAcksFilter is every post's acks (HQ writes them).
	PostsHitsFilter     = postsPrefix + "+/" + LeafHits
	PostsStatusFilter   = postsPrefix + "+/" + LeafStatus
	PostsPresenceFilter = postsPrefix + "+/" + LeafPresence
	PostsAcksFilter     = postsPrefix + "+/" + LeafAcks
)

// DeltaTopic is the topic of list's deltas (HQ → posts, QoS 1, not
// retained).
func DeltaTopic(list string) string { return listsPrefix + list + "/" + LeafDelta }

// HeadTopic is the topic of list's head (HQ → posts, QoS 1, retained).
func HeadTopic(list string) string { return listsPrefix + list + "/" + LeafHead }

// KeyTopic is where HQ publishes, retained, the rotation statement that
// introduces key id.
func KeyTopic(id KeyID) string { return keysPrefix + id.String() }

// SealKeyTopic is where HQ publishes, retained, the encryption key
// statement of its signing key id (SealKeyStatement). It is under the
// keys tree, so the access table needs no new line.
func SealKeyTopic(id KeyID) string { return keysPrefix + id.String() + "/" + LeafSeal }

// HitsTopic is the post's one reliable stream to HQ: its outbox records
// (EncodeRecord) of every kind.
func HitsTopic(post string) string { return postTopic(post, LeafHits) }

// AcksTopic is where HQ acknowledges the post's records (EncodeAck).
func AcksTopic(post string) string { return postTopic(post, LeafAcks) }

// StatusTopic is where a post publishes its retained status record.
func StatusTopic(post string) string { return postTopic(post, LeafStatus) }

// PresenceTopic is where a post's retained presence record (and its MQTT
// will) goes.
func PresenceTopic(post string) string { return postTopic(post, LeafPresence) }

func postTopic(post, leaf string) string { return postsPrefix + post + "/" + leaf }

// PostOfTopic returns the post id of a watchpost/v1/posts/<post>/<leaf>
// topic and its leaf, or ok=false.
func PostOfTopic(topic string) (post, leaf string, ok bool) {
	if len(topic) <= len(postsPrefix) || topic[:len(postsPrefix)] != postsPrefix {
		return "", "", false
	}
	rest := topic[len(postsPrefix):]
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			post, leaf = rest[:i], rest[i+1:]
			if post == "" || leaf == "" {
				return "", "", false
			}
			for j := 0; j < len(leaf); j++ {
				if leaf[j] == '/' {
					return "", "", false
				}
			}
			return post, leaf, true
		}
	}
	return "", "", false
}

// Access is what one identity may do on the broker: the MQTT filters it
// may subscribe to and receive from (Read) and those it may publish on
// (Write). It is the broker's ACL, stated once here: the embedded broker
// enforces it and the shipped Mosquitto acl_file is checked against it.
type Access struct {
	Read, Write []string
}

// HQAccess is the HQ account's access: it reads every post's topics and
// writes the lists, the key statements and every post's acks.
func HQAccess() Access {
	return Access{
		Read:  []string{AllPostsFilter},
		Write: []string{AllListsFilter, AllKeysFilter, PostsAcksFilter},
	}
}

// PostAccess is post's access: it reads the lists, the key statements
// and its own acks, and writes its own hits, status and presence. post
// must be a valid post id (ValidatePostID).
func PostAccess(post string) Access {
	return Access{
		Read:  []string{AllListsFilter, AllKeysFilter, AcksTopic(post)},
		Write: []string{HitsTopic(post), StatusTopic(post), PresenceTopic(post)},
	}
}
