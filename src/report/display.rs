pub fn lvdisplay() {}
pub fn vgdisplay() {}
pub fn pvdisplay() {}
