//! Merge progress polling (arrives with the merge issue).
