//! `ecaudit rules eval`: a rule's sub-expressions and their values on one deployment.
