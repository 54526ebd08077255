pub struct CloudInspection;
pub fn inspect() {}
