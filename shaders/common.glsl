// Shared by every compute shader: workgroup size from specialization constant 100 and
// linear indices over a dispatch that the host may spread across x and y.
layout(local_size_x_id = 100) in;

uint ls_linear_group() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }
uint ls_group_count() { return gl_NumWorkGroups.x * gl_NumWorkGroups.y; }
uint ls_global_index() { return ls_linear_group() * gl_WorkGroupSize.x + gl_LocalInvocationID.x; }
